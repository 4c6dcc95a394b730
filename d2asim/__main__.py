from d2asim.cli import main

main()
