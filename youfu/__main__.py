from youfu.cli import main

raise SystemExit(main())
