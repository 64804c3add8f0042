# Sourced by the bench scripts before they cd to the repository: paths given in MODELSEC and
# ORT_DYLIB_PATH relative to where the script was started stay valid after the cd. A relative
# path that does not exist is an error (exit 2), not a file silently looked up elsewhere.
for _v in MODELSEC ORT_DYLIB_PATH; do
  if [ -n "${!_v:-}" ] && [ "${!_v#/}" = "${!_v}" ]; then
    [ -e "${!_v}" ] || { echo "error: $_v=${!_v} does not exist (give the path to the file)" >&2; exit 2; }
    printf -v "$_v" '%s' "$(cd "$(dirname "${!_v}")" && pwd)/$(basename "${!_v}")"
  fi
done
unset _v
