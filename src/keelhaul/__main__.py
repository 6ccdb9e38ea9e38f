from keelhaul.cli.command import main

main()
