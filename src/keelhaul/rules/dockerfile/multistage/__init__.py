"""Multi-stage builds: stages, their names and references, and what the final stage ships.

Stage names and ``COPY --from`` references (KH135-KH139, KH159), unused stages (KH126), and the
size rules about the final image: a full language image or toolchain as its base (KH120,
KH121), compilers and build tools left in it (KH124, KH125, KH127). The fix builders that
convert a single-stage build into a builder and a slim runtime stage live here too:
``_fixes.py`` (Go, and the split around the build RUN every conversion shares), ``_java.py``,
``_node.py`` and ``_python.py``; ``_stage_references.py`` reads what ``--from`` names.
"""
