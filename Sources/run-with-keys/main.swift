print("run-with-keys")
