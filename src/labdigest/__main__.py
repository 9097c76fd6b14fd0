from labdigest.cli import run

raise SystemExit(run())
