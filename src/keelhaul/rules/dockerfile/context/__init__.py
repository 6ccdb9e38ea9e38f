"""The build context: the files ``docker build`` sends, and ``.dockerignore``.

No ``.dockerignore`` (KH230), one that lets large or generated folders through (KH231),
secret files sent to the builder (KH232), and a COPY of a file that ``.dockerignore``
excludes (KH233). ``_context.py`` joins the Dockerfile's COPY lines with the context walk of
:mod:`keelhaul.context` and writes ``.dockerignore`` fixes.
"""
