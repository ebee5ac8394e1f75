-- The chat body at a steady rate: every connection waits BENCH_DELAY_MS between its requests (wrk's delay hook).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "chat.lua")
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")

function delay()
  return pause
end
