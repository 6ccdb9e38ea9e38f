"""``keelhaul fleet``: a whole registry analysed with each layer read once, on Dask.

- :mod:`keelhaul.fleet.sources` turns the sources named on the command line (a registry's
  catalog, a file of references) into image references, with include and exclude patterns;
- :mod:`keelhaul.fleet.work` is what runs on the Dask workers: one task per layer DiffID
  (and analyzer version), which fetches the blob and walks it once with the image report's
  analyzers, and one task per image, which assembles ``keelhaul image``'s report from its
  layers' scans and its config;
- :mod:`keelhaul.fleet.scan` opens the manifests and configs, submits the tasks, shows
  progress and stores the snapshot;
- :mod:`keelhaul.fleet.store` keeps snapshots in SQLite or PostgreSQL (one schema,
  versioned migrations);
- :mod:`keelhaul.fleet.report` reads two snapshots back: bytes with and without layer
  sharing, the monthly cost, the worst images, the bases in use, what changed.

Dask and psycopg are the ``fleet`` extra; nothing here imports them until a scan or a
PostgreSQL store needs them.
"""
