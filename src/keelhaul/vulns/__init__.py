"""Vulnerabilities: OSV advisories, their database, and matching installed packages."""
