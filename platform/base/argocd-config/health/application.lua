-- Health of a child Application, which the app of apps needs to hold a sync wave until the
-- waves before it are ready (Argo CD judges Applications Healthy as soon as they exist
-- otherwise). It is the child's own health, except that a child whose sync is still running
-- (PostSync hooks included, such as cert-manager's webhook readiness gate) is Progressing and a
-- child whose last sync failed is Degraded: a gate that has not passed holds the next wave.
--
-- A failed sync that Argo CD will retry is still phase Running ("Retrying attempt #N"), so it is
-- Progressing; Failed or Error means no retry is left. Argo CD's automated sync never tries that
-- revision again by itself, so a finite retry limit could hold every later wave until someone
-- synced by hand: the Applications of the app of apps retry without limit (retry.limit -1,
-- refresh on each attempt), and Degraded remains for a sync stopped by hand or one without
-- retries.
local health = {status = "Progressing", message = "waiting for the first sync"}
if obj.status == nil then
  return health
end

local operation = obj.status.operationState
if operation ~= nil then
  if operation.phase == "Running" or operation.phase == "Terminating" then
    health.message = "sync " .. string.lower(operation.phase) .. ": " .. (operation.message or "")
    return health
  end
  if operation.phase == "Failed" or operation.phase == "Error" then
    health.status = "Degraded"
    health.message = "last sync " .. string.lower(operation.phase) .. ": " .. (operation.message or "")
    return health
  end
end

if obj.status.health ~= nil and obj.status.health.status ~= nil then
  health.status = obj.status.health.status
  health.message = obj.status.health.message or ""
end
return health
