package atomicfile

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// oTmpfile is Linux's O_TMPFILE: __O_TMPFILE (020000000 on every
// architecture Go supports) with O_DIRECTORY, whose value varies.
const oTmpfile = 0o20000000 | syscall.O_DIRECTORY

// atSymlinkFollow is linkat's AT_SYMLINK_FOLLOW.
const atSymlinkFollow = 0x400

// atFDCWD is AT_FDCWD (-100), which package syscall does not export on
// every architecture.
var atFDCWD = -100

// createUnnamed opens a file in dir that has no name (O_TMPFILE) until
// nameUnnamed gives it one: a process killed while writing it leaves
// nothing behind. It fails where the kernel or the file system has no
// O_TMPFILE. In errors the file is called path, the name it is written
// for.
func createUnnamed(dir, path string, perm os.FileMode) (*os.File, error) {
	fd, err := syscall.Open(dir, syscall.O_RDWR|oTmpfile|syscall.O_CLOEXEC, uint32(perm))
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// nameUnnamed links the unnamed file f as name, through /proc/self/fd as
// open(2) describes (linkat with AT_EMPTY_PATH needs a capability).
func nameUnnamed(f *os.File, name string) error {
	proc := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	from, err := syscall.BytePtrFromString(proc)
	if err != nil {
		return err
	}
	to, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall6(syscall.SYS_LINKAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(from)), uintptr(atFDCWD), uintptr(unsafe.Pointer(to)), atSymlinkFollow, 0)
	if e != 0 {
		return &os.LinkError{Op: "linkat", Old: proc, New: name, Err: e}
	}
	return nil
}

// lockTemp marks f as the temporary file of a live write: an exclusive
// flock, which the kernel drops when the process ends, however it ends.
func lockTemp(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// sweepStale removes the temporary files ".BASE.tmp-*" in dir that no
// live write holds (lockTemp): what a write killed between naming its
// file and renaming it left behind.
func sweepStale(dir, base string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	prefix := "." + base + ".tmp-"
	for _, name := range names {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		p := filepath.Join(dir, name)
		fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
		if err != nil {
			continue
		}
		if syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			os.Remove(p)
		}
		syscall.Close(fd)
	}
}
