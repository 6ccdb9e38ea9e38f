from keelhaul.cli.app import main

main()
