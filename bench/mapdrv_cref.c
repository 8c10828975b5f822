// SPDX-License-Identifier: GPL-2.0
/*
 * mapdrv_cref: the classic mapdrv, written in C the classic way, as the
 * baseline `maptest bench-fault` measures mapdrv's Rust fault path against.
 * It is not part of mapdrv proper and is loaded only by the benchmarks.
 *
 * Same contract as /dev/mapdrv's default mode (see src/driver.rs), minus
 * the counters ioctl and the log: one zeroed vmalloc buffer of
 * buffer_pages pages starting with "ok", shared by every opener; mmap
 * maps nothing and .fault hands the core vmalloc_to_page() of the faulting
 * offset with a reference taken by get_page(); the same mmap checks (range
 * inside the buffer, no PROT_EXEC, no writable MAP_PRIVATE, no mremap
 * growth); read and lseek on the same bytes.
 *
 * The fault handler does what mapdrv's does besides the lookup: it counts
 * the fault in an atomic counter, so the two paths do the same work.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/vmalloc.h>

static unsigned long buffer_pages = 10;
module_param(buffer_pages, ulong, 0444);
MODULE_PARM_DESC(buffer_pages, "Pages in /dev/mapdrv_cref's vmalloc buffer (1..=65536)");

static void *buffer;
static atomic64_t faults;

static vm_fault_t cref_fault(struct vm_fault *vmf)
{
	struct page *page;

	if (vmf->pgoff >= buffer_pages)
		return VM_FAULT_SIGBUS;
	page = vmalloc_to_page(buffer + (vmf->pgoff << PAGE_SHIFT));
	get_page(page);
	vmf->page = page;
	atomic64_inc(&faults);
	return 0;
}

static const struct vm_operations_struct cref_vm_ops = {
	.fault = cref_fault,
};

static int cref_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long len = vma->vm_end - vma->vm_start;
	unsigned long size = buffer_pages << PAGE_SHIFT;

	if (vma->vm_flags & VM_EXEC)
		return -EINVAL;
	if (vma->vm_pgoff >= buffer_pages || len > size - (vma->vm_pgoff << PAGE_SHIFT))
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED) && (vma->vm_flags & VM_WRITE))
		return -EINVAL;
	vm_flags_clear(vma, VM_MAYEXEC);
	if (!(vma->vm_flags & VM_SHARED))
		vm_flags_clear(vma, VM_MAYWRITE);
	vm_flags_set(vma, VM_DONTEXPAND);
	vma->vm_ops = &cref_vm_ops;
	return 0;
}

static ssize_t cref_read(struct file *file, char __user *buf, size_t len, loff_t *pos)
{
	return simple_read_from_buffer(buf, len, pos, buffer, buffer_pages << PAGE_SHIFT);
}

static loff_t cref_llseek(struct file *file, loff_t offset, int whence)
{
	return fixed_size_llseek(file, offset, whence, buffer_pages << PAGE_SHIFT);
}

static const struct file_operations cref_fops = {
	.owner = THIS_MODULE,
	.mmap = cref_mmap,
	.read = cref_read,
	.llseek = cref_llseek,
};

static struct miscdevice cref_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "mapdrv_cref",
	.fops = &cref_fops,
};

static int __init cref_init(void)
{
	int ret;

	if (buffer_pages < 1 || buffer_pages > 65536) {
		pr_err("buffer_pages=%lu is out of range: it must be 1..=65536\n", buffer_pages);
		return -EINVAL;
	}
	buffer = vzalloc(buffer_pages << PAGE_SHIFT);
	if (!buffer)
		return -ENOMEM;
	memcpy(buffer, "ok", 3);
	ret = misc_register(&cref_misc);
	if (ret) {
		vfree(buffer);
		return ret;
	}
	pr_info("loaded: /dev/mapdrv_cref with a %lu-page vmalloc buffer (C reference)\n",
		buffer_pages);
	return 0;
}

static void __exit cref_exit(void)
{
	misc_deregister(&cref_misc);
	vfree(buffer);
	pr_info("unloaded after %lld faults\n", atomic64_read(&faults));
}

module_init(cref_init);
module_exit(cref_exit);
MODULE_DESCRIPTION("The classic mapdrv in C: the baseline of mapdrv's fault-path benchmark");
MODULE_LICENSE("GPL");
