# The module loads and unloads cleanly, with one log line each, and takes
# parameters through modprobe.
. ./lib.sh
ktap_plan 9

mark_log
check "modprobe mapdrv" modprobe mapdrv
check "mapdrv is listed in /proc/modules" is_loaded
check_log "load logs one 'mapdrv: loaded' line" '\] mapdrv: loaded: /dev/mapdrv with a 10-page vmalloc buffer reading "ok" \(report=1, show_addresses=0, verbose=1, map_mode=0\)'
check "rmmod mapdrv" rmmod mapdrv
check "mapdrv is gone from /proc/modules" sh -c '! grep -q "^mapdrv " /proc/modules'
check_log "unload logs 'mapdrv: unloaded'" '\] mapdrv: unloaded: /dev/mapdrv removed'

mark_log
check "modprobe mapdrv report=0 takes the parameter" modprobe mapdrv report=0
check_log "the parameter value reaches the module" 'mapdrv: loaded: .*\(report=0,'
check "rmmod after a parameterised load" rmmod mapdrv
