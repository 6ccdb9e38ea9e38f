"""``keelhaul verify``: prove a change by building it with a real Docker Engine.

Two versions of a Dockerfile — as it is and as ``keelhaul fix`` would leave it, two given
files, or a git revision and the working tree — are built from temporary copies of the build
context (:mod:`~keelhaul.verify.copies`, FROM lines mapped by
:mod:`~keelhaul.verify.base_map`), measured with keelhaul's image analysis
(:mod:`~keelhaul.verify.building`), smoke-checked (:mod:`~keelhaul.verify.smoke`) and rebuilt
after a one-line source change (:mod:`~keelhaul.verify.cache_behaviour`); when the fixed
version fails, the fix to blame is found by bisection (:mod:`~keelhaul.verify.bisect`).
:mod:`~keelhaul.verify.verifying` runs it all; :mod:`~keelhaul.verify.report` writes it down.
The engine is reached through the docker client (:mod:`~keelhaul.verify.engine`).
"""
