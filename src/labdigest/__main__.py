from labdigest.cli import main

raise SystemExit(main())
