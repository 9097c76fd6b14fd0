from labdigest.cli import run

run()
