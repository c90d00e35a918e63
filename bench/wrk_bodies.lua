-- wrk request generator for bench/oidc.py.
-- WRK_METHOD: GET or POST. WRK_BODY: one body for every request. WRK_BODIES: a file with one body
-- per line, each sent once (codes and refresh tokens are single use); when they run out the last
-- one is repeated, and the server's refusals show up as non-2xx responses in the table.
local method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
local path = os.getenv("WRK_BODIES")
local bodies = {}
local next_index = 0

if path then
  for line in io.lines(path) do
    if #line > 0 then bodies[#bodies + 1] = line end
  end
end

request = function()
  if #bodies > 0 then
    next_index = next_index + 1
    if next_index > #bodies then next_index = #bodies end
    return wrk.format(method, nil, nil, bodies[next_index])
  end
  return wrk.format(method, nil, nil, body)
end
