-- OpenAI chat completion, non-stream (20 completion tokens from the fake upstream).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")
wrk.path = "/v1/chat/completions"
wrk.body = string.format(
  '{"model":"%s","max_tokens":64,"messages":[{"role":"user","content":"Say hello to the benchmark."}]}',
  bench_model("gpt-4o-mini"))
