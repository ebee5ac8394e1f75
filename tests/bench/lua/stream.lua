-- OpenAI chat completion, streamed: 20 token chunks, then a usage chunk (stream_options.include_usage).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")
wrk.path = "/v1/chat/completions"
wrk.body = string.format(
  '{"model":"%s","max_tokens":64,"stream":true,"stream_options":{"include_usage":true},' ..
  '"messages":[{"role":"user","content":"Say hello to the benchmark."}]}',
  bench_model("gpt-4o-mini"))
