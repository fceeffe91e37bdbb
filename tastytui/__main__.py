from tastytui.cli import main

raise SystemExit(main())
