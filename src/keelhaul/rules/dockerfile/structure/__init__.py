"""How the Dockerfile is written: instructions, their form and the layers RUN lines make.

Syntax and casing (KH111-KH115, KH140, KH141, KH153), ARG and ENV (KH142-KH149), LABEL,
EXPOSE, WORKDIR, CMD/ENTRYPOINT/HEALTHCHECK (KH130-KH134, KH150-KH158), and how RUN scripts
are written and split into layers: merged RUNs, pipefail, ``cd`` versus WORKDIR, files
deleted a layer later (KH180, KH181, KH185-KH189, KH191). The comment rule for unused
suppressions is here too. A new rule about the shape of instructions or shell scripts goes
here; one about what a package manager does goes in ``packages_and_caches/``. ``_fixes.py``
holds the fixes (casing, exec form, merging, pipefail), each proved by re-parsing.
"""
