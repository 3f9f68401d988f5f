-- wrk script for `POST /authenticate`: every request logs in with the JSON body given as the
-- first script argument. Run with -c32 it keeps 32 logins in flight for the whole window.
function init(args)
   body = args[1]
end

function request()
   return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
