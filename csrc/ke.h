/* kanjiedge C codec: decode ETL Character Database records and resize/normalize character images.
 *
 * Pure C11, no allocation, no I/O, no global state, no threads: every function works on caller-owned buffers
 * and returns an int code (KE_OK or a negative KE_E*), so the same code builds for CPython (cffi) and wasm.
 * Record layouts follow docs/etl-format.md §2-3 (0-based byte offsets, big-endian, MSB-first pixels); the
 * Python table kanjiedge/formats.py holds the same numbers (tests/test_formats.py compares them).
 *
 * Usage (decode all records of an ETL9G file already in memory, 64x64 moment-normalized):
 *
 *     ke_layout lay;
 *     ke_layout_of(KE_T_G9, &lay);                      // lay.record_bytes == 8199
 *     size_t n = file_len / lay.record_bytes;
 *     uint8_t *img = malloc(n * 64 * 64);                // caller owns every buffer
 *     ke_meta *meta = malloc(n * sizeof *meta);
 *     int rc = ke_decode_batch(KE_T_G9, file, file_len, n, 64, 64, KE_NORM_MOMENT, img, meta);
 *     if (rc != KE_OK) { ... }                           // never aborts, never prints
 *
 * ---------------------------------------------------------------------------------------------------------
 * Resize / normalize algorithm (ke_normalize). Written out so that a JavaScript port can match it exactly:
 * all arithmetic is IEEE double except where "integer" is said, operations in the order given.
 *
 * Input: img[h][w] levels 0..maxlevel, 0 = paper, maxlevel = darkest ink. Output: out[oh][ow], 0..255.
 * Ink threshold t = maxlevel / 8 + 1 (integer division): 2 for 4-bit, 1 for 1-bit, 8 for 6-bit, 32 for 8-bit.
 *
 * 1. Source window: origin (x0, y0) and pixel pitch (sx, sy), in source pixel units (pixel (x,y) covers
 *    [x, x+1) x [y, y+1)).
 *    NONE:   x0 = y0 = 0, sx = w / ow, sy = h / oh (the whole frame, aspect not kept).
 *    BBOX:   bounding box [bx0, bx1) x [by0, by1) of pixels with v >= t. No such pixel -> all-zero output.
 *            s = max((bx1 - bx0) / ow, (by1 - by0) / oh); sx = sy = s;
 *            x0 = (bx0 + bx1) / 2 - s * ow / 2;  y0 = (by0 + by1) / 2 - s * oh / 2.
 *            (the box is centred, aspect kept, and touches the output frame on its long side)
 *    MOMENT: q = v if v >= t else 0. Integer sums over all pixels: m = sum q, Sx = sum q*x, Sy = sum q*y,
 *            Sxx = sum q*x*x, Syy = sum q*y*y (64-bit). m == 0 -> all-zero output. Then in double:
 *            mx = Sx / m; my = Sy / m; vx = Sxx / m - mx * mx; vy = Syy / m - my * my;
 *            cx = mx + 0.5; cy = my + 0.5 (centre of mass; + 0.5 = pixel centres);
 *            side = 4 * sqrt(max(vx, vy, 0)); if side < 1 then side = 1;
 *            s = side / min(ow, oh); sx = sy = s; x0 = cx - s * ow / 2; y0 = cy - s * oh / 2.
 *            (centre of mass goes to the output centre; a +-2 sigma square of the larger axis fills it)
 *    BBOX and MOMENT then put the window on the 1/256-pixel grid: S = floor(sx * 256 + 0.5), if S < 1 then
 *    S = 1; sx = sy = S / 256; x0 = floor(x0 * 256 + 0.5) / 256; y0 = floor(y0 * 256 + 0.5) / 256.
 *    (every weight below is then a multiple of 1/256, so the sums of step 2 are exact and C can use integers)
 * 2. Area resampling: output pixel (i, j) is the mean of the source (zero outside the frame) over
 *    [x0 + j*sx, x0 + (j+1)*sx) x [y0 + i*sy, y0 + (i+1)*sy), computed with exact fractional overlaps:
 *    a) per output column j: xa = x0 + j*sx, xb = xa + sx, both clipped to [0, w]; the overlap weight of
 *       source column x is min(x+1, xb) - max(x, xa) for floor(xa) <= x < ceil(xb) (none if xb <= xa).
 *       Rows likewise with y0, sy, h.
 *    b) for each output row i (top to bottom): acc[j] = 0; for each source row y of that row's span (top to
 *       bottom): for each j (left to right): r = sum over the column span of j, left to right, of
 *       wx * v(y, x) (started at 0.0); acc[j] += wy * r.
 *    c) out[i][j] = (int)(acc[j] * (255 / (sx * sy * maxlevel)) + 0.5), clamped to 0..255, where the factor
 *       in brackets is computed once as 255.0 / (sx * sy * (double)maxlevel).
 *    The C code takes a shortcut that gives the same doubles (tests compare it with a literal transcription):
 *    when x0, y0, sx, sy are multiples of 1/256 (BBOX, MOMENT, and NONE resizes such as 128x127 -> 64x64),
 *    every product and sum above is an exact multiple of 2^-16, so it sums in integers (vertical pass first)
 *    in any order and converts once; out = (int)(A * (scale * 2^-16) + 0.5) for the integer sum A.
 * ---------------------------------------------------------------------------------------------------------
 * Cleaning algorithm (ke_clean; modes CLEAN_BBOX / CLEAN_MOMENT run it before the BBOX / MOMENT window). Integer
 * arithmetic only (64-bit where products may be large), so the JS port is bit-exact. n = h * w.
 * C1. Paper level P: the median level, the smallest v with 2 * #(pixels <= v) >= n (paper is most of a frame).
 * C2. Noise floor: D = sum over pixels with v <= P of (P - v), B = #(pixels with v <= P);
 *     noise = ceil(5 D / (2 B)) = (5 D + 2 B - 1) / (2 B) (2.5x the mean deviation below the paper level: about 2
 *     sigma of Gaussian paper noise). Ink floor T = P + max(noise, t), t = maxlevel / 8 + 1 (the ink threshold of
 *     step 1). Ink = pixels with v >= T. No ink (or T > 255) -> all-zero output.
 * C3. Stretch: I = the smallest v >= T with 10 * #(T <= level <= v) >= 9 * #(ink) (90th percentile of the ink),
 *     R = I - P; an ink pixel becomes min(maxlevel, ((v - P) * maxlevel + R / 2) / R), every other pixel 0 (paper
 *     and noise gone, faint pencil stretched so its 90th percentile is full ink).
 * C4. Components: 8-connected ink components; each has its ink S (sum of v - P over its pixels) and an edge flag
 *     (a pixel within the border band: y < b, y >= h - b, x < b or x >= w - b, b = 1 + min(h, w) / 64).
 *     Total ink S_all. The largest component (largest S; on a tie the one whose first pixel in row-major order
 *     comes first) is always kept.
 * C5. Every other component is a speck when S < R * max(1, n / 1024) (under n/1024 pixels of full stretched ink),
 *     else a fragment when it touches the border band and 4 * S < S_all (a piece of the neighbouring character,
 *     cut by the cell grid). Specks are dropped; fragments are dropped unless 2 * (their S together) > S_all - (the
 *     specks' S) (then they are most of the ink: the character itself is in pieces at the border).
 * C6. The kept components' stretched levels form the cleaned image (same size, levels 0..maxlevel), which then
 *     goes through step 1 (BBOX or MOMENT window) and step 2 unchanged.
 * ---------------------------------------------------------------------------------------------------------
 */
#ifndef KE_H
#define KE_H

#include <stddef.h>
#include <stdint.h>

#define KE_VERSION 4 /* 4: cleaned modes (ke_clean) */

/* Return codes. */
#define KE_OK 0
#define KE_EARG (-1)   /* bad argument: null pointer, unknown type or mode, size out of range */
#define KE_ETRUNC (-2) /* input shorter than the records it should hold */
#define KE_EBUF (-3)   /* output buffer too small */

/* Record types (docs/etl-format.md §2). */
#define KE_T_M 0  /* ETL1/6/7: 2052 B, 64x63x4 at byte 32, JIS X 0201 at byte 6 */
#define KE_T_K 1  /* ETL2: 2745 B (6-bit units), 60x60x6 at byte 45, CO-59 a/b in bytes 21-22 */
#define KE_T_C 2  /* ETL3/4/5: 2952 B (6-bit units), 72x76x4 at byte 216, JIS X 0201 at byte 9 */
#define KE_T_B8 3 /* ETL8B2: 512 B, 64x63x1 at byte 8, JIS X 0208 at bytes 2-3 */
#define KE_T_B9 4 /* ETL9B: 576 B, otherwise as ETL8B2 */
#define KE_T_G8 5 /* ETL8G: 8199 B, 128x127x4 at byte 60, JIS X 0208 at bytes 2-3 */
#define KE_T_G9 6 /* ETL9G: 8199 B, 128x127x4 at byte 64 */
#define KE_NTYPES 7

/* Normalization modes for ke_normalize / ke_decode_batch. */
#define KE_NORM_NONE 0
#define KE_NORM_BBOX 1
#define KE_NORM_MOMENT 2
#define KE_NORM_CLEAN_BBOX 3   /* ke_clean, then BBOX */
#define KE_NORM_CLEAN_MOMENT 4 /* ke_clean, then MOMENT */

#define KE_MAX_PIXELS (128 * 127) /* largest native frame (G-type) */
#define KE_MAX_OUT 1024           /* largest output side */
#define KE_CLEAN_MAX_PIXELS (1 << 23) /* largest image ke_clean takes (8.4 Mpx: component sums fit 31 bits) */

typedef struct {
    int32_t record_bytes, width, height, bpp, image_offset;
} ke_layout;

/* Per-record fields the Python side needs.
 * code:  M/C: JIS X 0201 byte; K: CO-59 a<<6|b; B/G: JIS X 0208 row/cell code (e.g. 0x2422).
 * sheet: M: u16 sheet (bytes 4-5); C: 36-bit sheet (6-bit chars 7-12); B/G: u16 sheet (bytes 0-1);
 *        K: 0 (printed characters have no sheet).
 * aux:   C: T56 index of the first class-code char (24 = 'H' hiragana); K: T56 style mark (17..20 = A..D);
 *        others 0. */
typedef struct {
    uint32_t code, sheet, aux;
} ke_meta;

int ke_version(void);

/* Layout of record type `type`; KE_EARG for an unknown type. */
int ke_layout_of(int type, ke_layout *out);

/* Metadata of one record of `len` bytes (KE_ETRUNC if len < record size). */
int ke_read_meta(int type, const uint8_t *rec, size_t len, ke_meta *out);

/* Raw levels of one record into out[height*width] (0 = paper .. 2^bpp - 1). */
int ke_decode_raw(int type, const uint8_t *rec, size_t len, uint8_t *out, size_t out_len);

/* Resize/normalize img[h][w] (levels 0..maxlevel, 1 <= maxlevel <= 255) into out[oh][ow], 0..255 (see above).
 * img must not overlap out. */
int ke_normalize(const uint8_t *img, int h, int w, int maxlevel, int oh, int ow, int mode, uint8_t *out);

/* As ke_normalize, with a caller buffer `work` of work_len >= ke_normalize_work_size(h, w, mode) bytes (8-byte
 * aligned) for the cleaned modes. ke_normalize itself uses a stack buffer, enough for frames of KE_MAX_PIXELS, and
 * returns KE_EBUF for a cleaned mode on a larger image. */
int ke_normalize_ex(const uint8_t *img, int h, int w, int maxlevel, int oh, int ow, int mode, uint8_t *out,
                    void *work, size_t work_len);

/* Bytes of `work` ke_normalize_ex needs (0 for modes without cleaning; 0 also for a cleaned mode on an image
 * ke_clean rejects: h, w < 1, w > 65535 or more than KE_CLEAN_MAX_PIXELS pixels). */
size_t ke_normalize_work_size(int h, int w, int mode);

/* Bytes of `work` ke_clean needs for an h x w image (0 when it rejects the size, as above). */
size_t ke_clean_work_size(int h, int w);

/* Cleaning (steps C1-C6 above): img[h][w] levels 0..maxlevel -> out[h][w] levels 0..maxlevel, the kept ink only.
 * `work` (8-byte aligned) holds ke_clean_work_size(h, w) bytes. img must not overlap out. */
int ke_clean(const uint8_t *img, int h, int w, int maxlevel, uint8_t *out, void *work, size_t work_len);

/* Decode records [0, n) of `data` (data_len >= n * record_bytes) into images[n][oh][ow] and, when meta is not
 * NULL, meta[n]. oh == 0 && ow == 0 means raw levels at the native frame size (mode must be KE_NORM_NONE);
 * otherwise each record goes through ke_normalize with maxlevel = 2^bpp - 1. */
int ke_decode_batch(int type, const uint8_t *data, size_t data_len, size_t n, int oh, int ow, int mode,
                    uint8_t *images, ke_meta *meta);

/* As ke_decode_batch, with a caller buffer for the cleaned modes (ke_normalize_ex; work may be NULL for the others):
 * no large stack frame, so it suits threads with small stacks. */
int ke_decode_batch_ex(int type, const uint8_t *data, size_t data_len, size_t n, int oh, int ow, int mode,
                       uint8_t *images, ke_meta *meta, void *work, size_t work_len);

#endif
