"""Spark settings of every driver the project starts: local sessions, cluster applications, the Connect server."""

# Spark caches the classes it generates for queries, 100 by default. One pass over the 41 views generates about
# 330, so a process that runs the views again (the Connect server, the test session, a benchmark) compiled every
# one again: on 7,000 events the first repeated pass went from 330 compilations and 26 s of JVM CPU to none and
# 17 s (later repeats gain less: 15-20 s without, 14-15 s with).
DRIVER_CONF = {"spark.sql.codegen.cache.maxEntries": "1000"}
