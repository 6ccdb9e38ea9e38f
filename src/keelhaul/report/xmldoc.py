"""What the two XML formats share: text XML 1.0 can carry, and the document with its header."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

# XML 1.0 cannot carry most control characters, even escaped; lone surrogates are not text.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` with each character XML 1.0 forbids replaced by U+FFFD (escaping is ET's job)."""
    return _NOT_XML.sub("\ufffd", text)


def document(root: ET.Element) -> str:
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
