"""Command-line pieces shared by the tools of ``tools/model_converters/``."""
import argparse
from typing import List, Optional

from ..checkpoints import convert_teacher_checkpoint


def converter_parser(description: str) -> argparse.ArgumentParser:
    """Returns the parser every converter of ``tools/model_converters/``
    starts from: the source and the destination file.

    Args:
        description (str): The tool's help text (its module docstring).

    Returns:
        argparse.ArgumentParser: A parser with ``src`` and ``dst``.
    """
    parser = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='the checkpoint to read')
    parser.add_argument('dst', help='the file to write')
    return parser


def run_teacher_converter(description: str,
                          format: str,
                          argv: Optional[List[str]] = None) -> None:
    """Runs a converter whose command line is just ``src dst``.

    Args:
        description (str): The tool's help text (its module docstring).
        format (str): The format the tool reads.
        argv (list[str], optional): The arguments. Defaults to the command
            line's.
    """
    args = converter_parser(description).parse_args(argv)
    weights, _ = convert_teacher_checkpoint(args.src, args.dst, format)
    print(f'{args.dst}: {len(weights)} tensors of the {format} checkpoint '
          f'{args.src}')
