# Start a grading kernel in a root of its own (run by tools/grading_kernel.py inside `unshare`).
#   sh grading_sandbox.sh NEW_ROOT FOLDER SPEC USER COMMAND...
# NEW_ROOT: an empty folder that becomes "/"; FOLDER: the submission's grading folder; SPEC: lines
# "ro PATH", "rw PATH" (bind-mounted at the same path, read-only or writable) or "ln PATH TARGET";
# USER: "uid:gid" to run as, or "same". Nothing else of the machine is visible: no course notebook,
# no .git, no home folder. Every capability is dropped before the kernel starts, so it cannot
# remount, leave the new root or write anywhere but FOLDER's work/, home/ and tmp/.
set -e
new=$1; folder=$2; spec=$3; user=$4; shift 4
mount -t tmpfs -o mode=755 course-grader "$new"
while read -r kind path target; do
  case $kind in
    ln) mkdir -p "$new$(dirname "$path")"; ln -s "$target" "$new$path" ;;
    ro|rw) mkdir -p "$new$path"; mount --rbind "$path" "$new$path"
           if [ "$kind" = ro ]; then mount -o remount,bind,ro "$new$path"; fi ;;
  esac
done < "$spec"
mount -o remount,ro "$new"
if [ "$user" = same ]; then who=""; else who="--reuid=${user%:*} --regid=${user#*:} --clear-groups"; fi
exec chroot "$new" /bin/sh -c 'cd "$0" && exec setpriv --no-new-privs --bounding-set=-all --inh-caps=-all '"$who"' -- "$@"' \
  "$folder/work" "$@"
