{
  "targets": [
    {
      "target_name": "taskq_native",
      "sources": ["taskq_native.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
