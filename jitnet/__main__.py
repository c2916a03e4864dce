"""Command line: ``python -m jitnet demo|bench|compile`` (also the ``jitnet`` console script)."""
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="jitnet", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train the chapter-10 spiral, jitnet vs the book")
    demo.add_argument("--epochs", type=int, default=10001)
    demo.add_argument("--quick", action="store_true", help="1001 epochs")
    demo.add_argument("--plot", metavar="OUT.png", help="save the decision boundary")
    bench = commands.add_parser("bench", help="time jitnet against the book (and PyTorch/JAX)")
    bench.add_argument("--quick", action="store_true", help="short workloads, 3 repeats")
    bench.add_argument("--repeat", type=int, default=None, help="repeats per timing (median)")
    bench.add_argument("--no-cold", action="store_true",
                       help="skip the start-up measurement on an empty cache")
    bench.add_argument("--chapters", action="store_true",
                       help="only the book's chapter scripts (1 core, after nnfs.init())")
    bench.add_argument("--no-chapters", action="store_true", help="skip the chapter rows")
    compile_ = commands.add_parser(
        "compile", help="fill Numba's disk cache ahead of the first run (for example"
                        " in a Docker build, or before a Dask cluster starts)")
    compile_.add_argument("--dtype", choices=["float32", "float64", "both"], default="both")
    compile_.add_argument("--portable", action="store_true",
                          help="maintainers: rebuild the x86-64-v3/v4 cache shipped in"
                               " jitnet/kernels/portable_cache (both dtypes)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from . import demo as demo_module
        epochs = 1001 if args.quick else args.epochs
        if epochs < 1:
            parser.error("--epochs must be a positive integer")
        demo_module.run(epochs=epochs, print_every=max(1, epochs // 10), plot=args.plot)
    elif args.command == "bench":
        from . import bench as bench_module
        if args.repeat is not None and args.repeat < 1:
            parser.error("--repeat must be a positive integer")
        if args.chapters and args.no_chapters:
            parser.error("--chapters and --no-chapters exclude each other")
        bench_module.run(quick=args.quick, repeat=args.repeat,
                         cold=not (args.no_cold or args.chapters),
                         workloads=not args.chapters, chapters=not args.no_chapters)
    elif args.command == "compile":
        from . import _compile
        if args.portable:
            return _compile.fill_portable_cache()
        dtypes = ["float32", "float64"] if args.dtype == "both" else [args.dtype]
        return _compile.fill_caches(dtypes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
