"""Package managers: apt, apk, dnf/yum, zypper, pip, npm/yarn/pnpm, gem and go.

Rules about what an install command does: versions not pinned (KH172-KH179), prompts that
stop a build (KH104, KH165, KH166), caches, package lists and recommended packages left in a
layer (KH103, KH105-KH107, KH160-KH164), upgrades and updates run alone (KH102, KH167,
KH168), ``apt`` in scripts (KH169), lockfiles and dev dependencies (KH170, KH171). ``_fixes.py`` holds their fix builders; the reading of RUN
scripts into package operations is ``shared/packages.py``.
"""
