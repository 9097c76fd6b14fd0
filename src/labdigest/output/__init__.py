"""The only package that writes the site: files written whole (files.py), one build at a
time (lock.py), what a build left recorded (manifest.py), and the staging folder a build
writes into before anything of the live site changes (stage.py)."""
