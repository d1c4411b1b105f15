"""`usr-harness flaws`: single-flaw variants of the bundled engine, and whether the drills catch them.

Each flaw is a patch file (`fixtures/flaws/NAME.patch`) applied to a throwaway copy of
the package, never a switch inside the engine; the drills it declares run against
that copy, and the kill matrix says which drill caught it or that it survived.
"""
