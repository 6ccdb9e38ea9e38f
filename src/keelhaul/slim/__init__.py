"""``keelhaul slim``: rewrite an existing image without its waste (squash its own layers,
keep its base's, drop hidden bytes and, when asked, whole categories of files)."""
