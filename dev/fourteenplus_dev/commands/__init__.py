"""The development commands, each with `configure(parser)` and `main(args)` as the product's."""
