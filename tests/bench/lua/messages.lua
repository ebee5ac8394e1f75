-- Anthropic messages, non-stream (Tollway translates nothing here: claude models go to an Anthropic upstream).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")
wrk.path = "/v1/messages"
wrk.headers["anthropic-version"] = "2023-06-01"
wrk.body = string.format(
  '{"model":"%s","max_tokens":64,"messages":[{"role":"user","content":"Say hello to the benchmark."}]}',
  bench_model("claude-3-5-haiku"))
