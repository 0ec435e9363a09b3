/*-------------------------------------------------------------------------
 *
 * datafile.c
 *		The data files of a snapshot: compression names and file name
 *		extensions, the compressing writer (a COPY TO file is compressed,
 *		hashed and fsynced into its final place) and the one decompressing
 *		reader (BacDataReader) that restore and export read COPY text from.
 *
 * A data file is COPY text, plain or compressed as one zstd or lz4 frame
 * stream (the frame formats the zstd and lz4 tools read).  PG15's
 * BeginCopyTo writes only to a file or a program; a program would need a
 * compressor binary and a shell, so each COPY goes to a temporary raw file
 * that is then stream-compressed with libzstd or liblz4 into the final
 * file, hashing the output on the way, and the raw file is removed.  The
 * cost is one extra sequential read of the raw file (mostly from the OS
 * cache).  Uncompressed files are hashed by reading them back once.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/datafile.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lz4frame.h>
#include <zstd.h>

#include "common/cryptohash.h"
#include "miscadmin.h"
#include "storage/fd.h"

#include "manifest.h"
#include "progress.h"

#define BAC_IO_CHUNK			(256 * 1024)

/* --- compression names --- */

/*
 * BacCompressionName
 *		The name of a compression method, as the manifest records it.
 */
const char *
BacCompressionName(BacCompression c)
{
	switch (c)
	{
		case BAC_COMPRESSION_ZSTD:
			return "zstd";
		case BAC_COMPRESSION_LZ4:
			return "lz4";
		default:
			return "none";
	}
}

/*
 * BacCompressionFromName
 *		The compression method of a name (NULL = none); an unknown name is a
 *		user error.
 */
BacCompression
BacCompressionFromName(const char *name)
{
	BacCompression c = BAC_COMPRESSION_NONE;

	if (name == NULL || BacCompressionKnown(name, &c))
		return c;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown compression \"%s\"", name),
			 errdetail("pg_bac compresses data files with zstd or lz4, or not at all."),
			 errhint("Valid values are \"none\", \"zstd\" and \"lz4\".")));
	return BAC_COMPRESSION_NONE;	/* keep compiler quiet */
}

/*
 * BacCompressionKnown
 *		The compression method of a name as a manifest records it; false for
 *		an unknown name (a damaged manifest, not a user error).
 */
bool
BacCompressionKnown(const char *name, BacCompression *c)
{
	if (name == NULL)
		return false;
	if (strcmp(name, "none") == 0)
		*c = BAC_COMPRESSION_NONE;
	else if (strcmp(name, "zstd") == 0)
		*c = BAC_COMPRESSION_ZSTD;
	else if (strcmp(name, "lz4") == 0)
		*c = BAC_COMPRESSION_LZ4;
	else
		return false;
	return true;
}

/*
 * BacCompressionExtension
 *		The file name extension of a data file compressed so: ".zst",
 *		".lz4" or "".
 */
const char *
BacCompressionExtension(BacCompression c)
{
	switch (c)
	{
		case BAC_COMPRESSION_ZSTD:
			return ".zst";
		case BAC_COMPRESSION_LZ4:
			return ".lz4";
		default:
			return "";
	}
}

/* --- writing a data file --- */

/*
 * BacWriteAll
 *		write() all of a buffer or raise an error (a full disk is an ERROR).
 */
void
BacWriteAll(int fd, const char *path, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0)
	{
		ssize_t		n = write(fd, p, len);

		if (n <= 0)
		{
			if (n == 0)
				errno = ENOSPC;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write file \"%s\": %m", path)));
		}
		p += n;
		len -= n;
	}
}

/*
 * DataFileHashUpdate
 *		Feed bytes to a SHA-256 context.
 */
static void
DataFileHashUpdate(pg_cryptohash_ctx *ctx, const void *buf, size_t len)
{
	if (pg_cryptohash_update(ctx, buf, len) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
}

/*
 * DataFileHashFinal
 *		Finish a SHA-256 context into hex.
 */
static void
DataFileHashFinal(pg_cryptohash_ctx *ctx, char *hex)
{
	uint8		digest[32];

	if (pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	BacSha256Hex(digest, hex);
}

/*
 * DataFileCompress
 *		Stream-compress src into dst (created 0600), hashing and fsyncing
 *		dst.  Returns the sizes of both.
 */
static void
DataFileCompress(const char *src, const char *dst, BacCompression comp,
				char *hex, int64 *bytes, int64 *raw_bytes)
{
	volatile int in = -1;
	volatile int out = -1;
	char	   *ibuf = palloc(BAC_IO_CHUNK);
	size_t		ocap;
	char	   *obuf;
	pg_cryptohash_ctx *hash = pg_cryptohash_create(PG_SHA256);
	ZSTD_CCtx  *volatile zctx = NULL;
	LZ4F_cctx  *volatile lctx = NULL;
	LZ4F_preferences_t prefs;
	int64		total_in = 0;
	int64		total_out = 0;

	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	if (comp == BAC_COMPRESSION_ZSTD)
		ocap = ZSTD_CStreamOutSize();
	else
		ocap = Max(LZ4F_compressBound(BAC_IO_CHUNK, &prefs), LZ4F_HEADER_SIZE_MAX);
	obuf = palloc(ocap);
	if (pg_cryptohash_init(hash) < 0)
		elog(ERROR, "could not initialize SHA-256");

	PG_TRY();
	{
		ssize_t		n;

		in = OpenTransientFile(src, O_RDONLY | PG_BINARY);
		if (in < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not open file \"%s\": %m", src)));
		out = OpenTransientFilePerm(dst, O_CREAT | O_EXCL | O_WRONLY | PG_BINARY,
									S_IRUSR | S_IWUSR);
		if (out < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create file \"%s\": %m", dst)));

		if (comp == BAC_COMPRESSION_ZSTD)
		{
			zctx = ZSTD_createCCtx();
			if (zctx == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("out of memory")));
			ZSTD_CCtx_setParameter(zctx, ZSTD_c_compressionLevel, ZSTD_CLEVEL_DEFAULT);
			ZSTD_CCtx_setParameter(zctx, ZSTD_c_checksumFlag, 1);
		}
		else
		{
			size_t		r;

			LZ4F_cctx  *c = NULL;

			if (LZ4F_isError(LZ4F_createCompressionContext(&c, LZ4F_VERSION)))
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("out of memory")));
			lctx = c;
			r = LZ4F_compressBegin(lctx, obuf, ocap, &prefs);
			if (LZ4F_isError(r))
				elog(ERROR, "lz4 compression failed: %s", LZ4F_getErrorName(r));
			BacWriteAll(out, dst, obuf, r);
			DataFileHashUpdate(hash, obuf, r);
			total_out += r;
		}

		for (;;)
		{
			bool		last;

			CHECK_FOR_INTERRUPTS();
			n = read(in, ibuf, BAC_IO_CHUNK);
			if (n < 0)
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not read file \"%s\": %m", src)));
			last = (n == 0);
			total_in += n;
			if (comp == BAC_COMPRESSION_ZSTD)
			{
				ZSTD_inBuffer zin = {ibuf, (size_t) n, 0};
				size_t		remaining;

				do
				{
					ZSTD_outBuffer zout = {obuf, ocap, 0};

					remaining = ZSTD_compressStream2(zctx, &zout, &zin,
													 last ? ZSTD_e_end : ZSTD_e_continue);
					if (ZSTD_isError(remaining))
						elog(ERROR, "zstd compression failed: %s",
							 ZSTD_getErrorName(remaining));
					BacWriteAll(out, dst, obuf, zout.pos);
					DataFileHashUpdate(hash, obuf, zout.pos);
					total_out += zout.pos;
				} while (last ? remaining != 0 : zin.pos < zin.size);
			}
			else
			{
				size_t		r;

				if (last)
					r = LZ4F_compressEnd(lctx, obuf, ocap, NULL);
				else
					r = LZ4F_compressUpdate(lctx, obuf, ocap, ibuf, n, NULL);
				if (LZ4F_isError(r))
					elog(ERROR, "lz4 compression failed: %s", LZ4F_getErrorName(r));
				BacWriteAll(out, dst, obuf, r);
				DataFileHashUpdate(hash, obuf, r);
				total_out += r;
			}
			if (last)
				break;
		}
		if (pg_fsync(out) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not fsync file \"%s\": %m", dst)));
	}
	PG_FINALLY();
	{
		if (zctx)
			ZSTD_freeCCtx(zctx);
		if (lctx)
			LZ4F_freeCompressionContext(lctx);
	}
	PG_END_TRY();

	DataFileHashFinal(hash, hex);
	pg_cryptohash_free(hash);
	CloseTransientFile(in);
	if (CloseTransientFile(out) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", dst)));
	pfree(ibuf);
	pfree(obuf);
	*bytes = total_out;
	*raw_bytes = total_in;
}

/*
 * DataFileHashAndSync
 *		Read a written file back once: SHA-256, size, and fsync.
 */
static void
DataFileHashAndSync(const char *path, char *hex, int64 *bytes)
{
	int			fd;

	BacSha256File(path, hex, bytes);
	fd = OpenTransientFile(path, O_RDWR | PG_BINARY);
	if (fd < 0 || pg_fsync(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", path)));
	CloseTransientFile(fd);
}

/*
 * BacDataFileFinish
 *		Turn the raw COPY text a task wrote at rawpath into the data file at
 *		path: compressed (and rawpath removed), or, uncompressed (rawpath is
 *		then path), read back once; either way hashed and fsynced.  Returns
 *		the SHA-256 (hex) and size of the data file and the size of the raw
 *		COPY text.
 */
void
BacDataFileFinish(const char *rawpath, const char *path, BacCompression comp,
				  char *hex, int64 *bytes, int64 *raw_bytes)
{
	if (comp == BAC_COMPRESSION_NONE)
	{
		DataFileHashAndSync(path, hex, bytes);
		*raw_bytes = *bytes;
		return;
	}
	DataFileCompress(rawpath, path, comp, hex, bytes, raw_bytes);
	if (unlink(rawpath) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove file \"%s\": %m", rawpath)));
}

/* --- reading a data file back --- */

/*
 * A data file is COPY text, plain or as one zstd or lz4 frame stream.  The
 * reader detects a damaged compressed file: a file that ends inside a frame
 * (truncated) and bytes after the last frame that are not a valid frame
 * (trailing garbage) are errors naming the file.
 */
struct BacDataReader
{
	int			fd;
	char	   *path;
	BacCompression compression;
	char	   *ibuf;
	size_t		ilen;			/* bytes in ibuf */
	size_t		ipos;			/* consumed */
	bool		eof;			/* the file has no more bytes */
	bool		frame_done;		/* the last frame decoded so far ended */
	ZSTD_DCtx  *zctx;
	LZ4F_dctx  *lctx;
};

/*
 * BacDataReaderOpen
 *		Open a data file of a snapshot for reading its COPY text back,
 *		decompressing on the fly.  Close it with BacDataReaderClose (also on
 *		error paths: it owns library memory outside palloc).
 */
BacDataReader *
BacDataReaderOpen(const char *path, BacCompression compression)
{
	BacDataReader *r = palloc0(sizeof(BacDataReader));

	r->path = pstrdup(path);
	r->compression = compression;
	r->frame_done = (compression == BAC_COMPRESSION_NONE);
	r->fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (r->fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open snapshot data file \"%s\": %m", path)));
	r->ibuf = palloc(BAC_IO_CHUNK);
	if (compression == BAC_COMPRESSION_ZSTD)
	{
		r->zctx = ZSTD_createDCtx();
		if (r->zctx == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory creating a zstd decompression context")));
	}
	else if (compression == BAC_COMPRESSION_LZ4)
	{
		LZ4F_dctx  *d = NULL;
		size_t		rc = LZ4F_createDecompressionContext(&d, LZ4F_VERSION);

		if (LZ4F_isError(rc))
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not create an lz4 decompression context: %s",
							LZ4F_getErrorName(rc))));
		r->lctx = d;
	}
	return r;
}

/*
 * DataFileReaderFill
 *		Refill the input buffer when it is used up; false at end of file.
 */
static bool
DataFileReaderFill(BacDataReader *r)
{
	ssize_t		n;

	if (r->ipos < r->ilen)
		return true;
	if (r->eof)
		return false;
	n = read(r->fd, r->ibuf, BAC_IO_CHUNK);
	if (n < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", r->path)));
	r->ilen = n;
	r->ipos = 0;
	BacProgressAdvance(0, n);
	if (n == 0)
		r->eof = true;
	return n > 0;
}

/*
 * DataFileReaderDecompress
 *		Run the decompressor once on the unconsumed input (none at the end of
 *		the file, to flush what it still holds) into buf; returns the number
 *		of bytes produced and notes whether a frame just ended.
 */
static size_t
DataFileReaderDecompress(BacDataReader *r, void *buf, size_t len)
{
	if (r->compression == BAC_COMPRESSION_ZSTD)
	{
		ZSTD_inBuffer zin = {r->ibuf, r->ilen, r->ipos};
		ZSTD_outBuffer zout = {buf, len, 0};
		size_t		rc = ZSTD_decompressStream(r->zctx, &zout, &zin);

		if (ZSTD_isError(rc))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("could not decompress zstd data file \"%s\": %s",
							r->path, ZSTD_getErrorName(rc))));
		r->frame_done = (rc == 0);
		r->ipos = zin.pos;
		return zout.pos;
	}
	else
	{
		size_t		dst = len;
		size_t		src = r->ilen - r->ipos;
		size_t		rc = LZ4F_decompress(r->lctx, buf, &dst,
										 r->ibuf + r->ipos, &src, NULL);

		if (LZ4F_isError(rc))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("could not decompress lz4 data file \"%s\": %s",
							r->path, LZ4F_getErrorName(rc))));
		r->frame_done = (rc == 0);
		r->ipos += src;
		return dst;
	}
}

/*
 * BacDataReaderRead
 *		Read up to len bytes of COPY text; returns 0 at the end.  A
 *		compressed file that ends in the middle of a frame is an error.
 */
size_t
BacDataReaderRead(BacDataReader *r, void *buf, size_t len)
{
	if (r->compression == BAC_COMPRESSION_NONE)
	{
		ssize_t		n = read(r->fd, buf, len);

		if (n < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", r->path)));
		BacProgressAdvance(0, n);
		return n;
	}
	if (len == 0)
		return 0;
	for (;;)
	{
		size_t		n;

		CHECK_FOR_INTERRUPTS();
		if (!DataFileReaderFill(r))
		{
			if (r->frame_done)
				return 0;
			/* the decompressor may still hold output of the last block */
			n = DataFileReaderDecompress(r, buf, len);
			if (n > 0)
				return n;
			if (r->frame_done)
				return 0;
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("%s data file \"%s\" ends in the middle of a frame",
							BacCompressionName(r->compression), r->path)));
		}
		n = DataFileReaderDecompress(r, buf, len);
		if (n > 0)
			return n;
	}
}

/*
 * BacDataReaderCheckEnd
 *		For a reader whose consumer stopped before BacDataReaderRead returned
 *		0 (COPY stops at its end-of-data marker): error if the compressed
 *		input read so far holds bytes after the copy data, or a frame is
 *		left unfinished.
 */
void
BacDataReaderCheckEnd(BacDataReader *r)
{
	if (r->compression != BAC_COMPRESSION_NONE &&
		(r->ipos < r->ilen || !r->frame_done))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("snapshot data file \"%s\" has data after the end of the copy data",
						r->path)));
}

/*
 * BacDataReaderClose
 *		Close the file and free the decompressor.
 */
void
BacDataReaderClose(BacDataReader *r)
{
	if (r->zctx)
		ZSTD_freeDCtx(r->zctx);
	if (r->lctx)
		LZ4F_freeDecompressionContext(r->lctx);
	if (r->fd >= 0)
		CloseTransientFile(r->fd);
	pfree(r->ibuf);
	pfree(r->path);
	pfree(r);
}
