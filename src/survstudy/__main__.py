"""``python -m survstudy`` runs the command-line interface."""

from survstudy.cli.main import main

if __name__ == "__main__":
    main()
