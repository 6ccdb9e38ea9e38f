"""Software bills of materials: what is installed in an image or a root filesystem (OS and
language packages) and what a source tree's lock files pin, as CycloneDX and SPDX."""
