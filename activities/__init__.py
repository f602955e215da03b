"""Activities: all I/O of the engine. Classes take their clients in the constructor so tests
can inject fakes and the worker can share connection pools."""
