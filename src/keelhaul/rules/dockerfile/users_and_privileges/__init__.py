"""Who the container runs as and what it may do.

Running as root (KH109), a USER that does not exist or is not numeric (KH200, KH201), sudo
(KH202, KH203), passwords set in a layer (KH204), privileged ports (KH207), ``useradd``
without ``-l`` (KH190) and files made writable by every user (KH220). KH109 reads the
stage's role (``shared/roles.py``). ``_users.py`` reads the users a build creates; ``_user_fixes.py``
adds a non-root user. What keelhaul knows of base images' users is ``shared/security.py``.
"""
