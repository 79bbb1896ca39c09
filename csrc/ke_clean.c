/* Cleaning before normalization (ke.h "Cleaning algorithm"): paper level and noise floor out, faint ink stretched
 * to full contrast, ink components found, edge fragments of neighbouring characters and isolated specks dropped.
 *
 * Components are found on runs, not pixels: each row's ink is cut into runs [x0, x1), a run is joined (union-find
 * with path halving, the smaller index always the root, no recursion) to every run of the row above that touches it
 * with 8-connectivity. Runs are far fewer than pixels, so the labelling costs one scan of the image plus a little
 * per run; memory is one fixed-size record per possible run, from a caller buffer (ke_clean_work_size). */
#include "ke.h"

#include <string.h>

typedef struct {
    int32_t parent;      /* union-find parent (a run index <= this one) */
    uint32_t sum;        /* this run's stretched ink; for a root after resolve(): the component's */
    uint16_t x0, x1;     /* pixels [x0, x1) of its row */
    uint8_t edge, drop;  /* touches the border band; dropped (roots only, after decide()) */
} ke_run;
_Static_assert(sizeof(ke_run) <= 16, "KE_STACK_WORK in ke_image.c counts 16 bytes per run");

typedef struct {
    int paper, floor_, high; /* P, T, I of ke.h step C1-C3 */
    uint8_t lut[256];        /* level -> stretched level (0 below T) */
} levels;

static int max_runs(int h, int w) { return h * ((w + 1) / 2); }

size_t ke_clean_work_size(int h, int w) {
    if (h <= 0 || w <= 0 || w > 65535 || (int64_t)h * w > KE_CLEAN_MAX_PIXELS) return 0;
    return (size_t)max_runs(h, w) * sizeof(ke_run) + ((size_t)h + 1) * sizeof(int32_t);
}

/* ------------------------------------------------------------------------------------------- levels (C1-C3) */

static void histogram(const uint8_t *img, size_t n, uint32_t hist[256]) {
    uint32_t part[4][256];
    memset(part, 0, sizeof part);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) { /* four partial histograms: no store-to-load stall on runs of one level */
        part[0][img[i]]++, part[1][img[i + 1]]++, part[2][img[i + 2]]++, part[3][img[i + 3]]++;
    }
    for (; i < n; i++) part[0][img[i]]++;
    for (int v = 0; v < 256; v++) hist[v] = part[0][v] + part[1][v] + part[2][v] + part[3][v];
}

/* C1-C3: paper level P (median), ink floor T, ink level I (90th percentile of the ink) and the stretch table.
 * Returns 0 when no pixel reaches T. */
static int estimate_levels(const uint8_t *img, int h, int w, int maxlevel, levels *lv) {
    uint32_t hist[256];
    int64_t n = (int64_t)h * w, cum = 0;
    histogram(img, (size_t)n, hist);
    int p = 0;
    while (2 * (cum + hist[p]) < n) cum += hist[p++];
    int64_t dev = 0, below = 0;
    for (int v = 0; v <= p; v++) dev += (int64_t)(p - v) * hist[v], below += hist[v];
    int64_t noise = (5 * dev + 2 * below - 1) / (2 * below);
    int t = maxlevel / 8 + 1;
    int64_t floor_ = p + (noise > t ? noise : t);
    if (floor_ > 255) return 0;
    int64_t ink = 0, acc = 0;
    for (int v = (int)floor_; v < 256; v++) ink += hist[v];
    if (ink == 0) return 0;
    int hi = (int)floor_;
    while (10 * (acc + hist[hi]) < 9 * ink) acc += hist[hi++];
    int64_t r = hi - p; /* >= t >= 1 */
    lv->paper = p, lv->floor_ = (int)floor_, lv->high = hi;
    for (int v = 0; v < 256; v++) {
        int64_t s = v < floor_ ? 0 : ((int64_t)(v - p) * maxlevel + r / 2) / r;
        lv->lut[v] = (uint8_t)(s > maxlevel ? maxlevel : s);
    }
    return 1;
}

/* ------------------------------------------------------------------------------------------ components (C4) */

static int32_t find(ke_run *runs, int32_t k) {
    while (runs[k].parent != k) {
        runs[k].parent = runs[runs[k].parent].parent; /* path halving */
        k = runs[k].parent;
    }
    return k;
}

static void unite(ke_run *runs, int32_t a, int32_t b) {
    a = find(runs, a), b = find(runs, b);
    if (a < b) runs[b].parent = a;
    else if (b < a) runs[a].parent = b;
}

/* Runs of ink (v >= T) of row y into runs[n..], stretched levels into out; joins them to the runs [pa, pb) of the
 * row above. Returns the new run count. */
static int32_t row_runs(const uint8_t *row, uint8_t *orow, int y, int h, int w, int band, const levels *lv,
                        ke_run *runs, int32_t n, int32_t pa, int32_t pb) {
    uint8_t t = (uint8_t)lv->floor_;
    int x = 0;
    while (x < w) {
        while (x < w && row[x] < t) orow[x++] = 0;
        if (x >= w) break;
        int x0 = x;
        uint32_t sum = 0;
        for (; x < w && row[x] >= t; x++) sum += orow[x] = lv->lut[row[x]];
        ke_run *r = &runs[n];
        r->parent = n, r->sum = sum, r->x0 = (uint16_t)x0, r->x1 = (uint16_t)x, r->drop = 0;
        r->edge = (uint8_t)(y < band || y >= h - band || x0 < band || x > w - band);
        while (pa < pb && runs[pa].x1 < x0) pa++; /* runs above ending left of x0 - 1 can touch no later run */
        for (int32_t k = pa; k < pb && runs[k].x0 <= x; k++) unite(runs, k, n);
        n++;
    }
    return n;
}

/* Every run points at its root; roots hold their component's ink sum and edge flag. */
static void resolve(ke_run *runs, int32_t n) {
    for (int32_t k = 0; k < n; k++) {
        int32_t r = find(runs, k);
        runs[k].parent = r;
        if (r != k) runs[r].sum += runs[k].sum, runs[r].edge |= runs[k].edge;
    }
}

/* ------------------------------------------------------------------------------------------- decisions (C5) */

static void decide(ke_run *runs, int32_t n, int64_t speck) {
    int64_t total = 0, frag = 0, specks = 0;
    int32_t big = -1;
    for (int32_t k = 0; k < n; k++) {
        if (runs[k].parent != k) continue;
        total += runs[k].sum;
        if (big < 0 || runs[k].sum > runs[big].sum) big = k;
    }
    for (int32_t k = 0; k < n; k++) {
        ke_run *r = &runs[k];
        if (r->parent != k || k == big) continue;
        if (r->sum < speck) r->drop = 1, specks += r->sum;
        else if (r->edge && 4 * (int64_t)r->sum < total) r->drop = 2, frag += r->sum;
    }
    if (2 * frag > total - specks) /* fragments hold most of the ink: they are the character */
        for (int32_t k = 0; k < n; k++)
            if (runs[k].drop == 2) runs[k].drop = 0;
}

int ke_clean(const uint8_t *img, int h, int w, int maxlevel, uint8_t *out, void *work, size_t work_len) {
    if (!img || !out || maxlevel < 1 || maxlevel > 255) return KE_EARG;
    size_t need = ke_clean_work_size(h, w);
    if (need == 0) return KE_EARG;
    if (!work || work_len < need) return KE_EBUF;
    levels lv;
    if (!estimate_levels(img, h, w, maxlevel, &lv)) {
        memset(out, 0, (size_t)h * (size_t)w);
        return KE_OK;
    }
    ke_run *runs = (ke_run *)work;
    int32_t *start = (int32_t *)(runs + max_runs(h, w)); /* first run of each row; start[h] = run count */
    int band = 1 + (h < w ? h : w) / 64;
    int32_t n = 0;
    for (int y = 0; y < h; y++) {
        start[y] = n;
        int32_t pa = y ? start[y - 1] : 0;
        n = row_runs(img + (size_t)y * w, out + (size_t)y * w, y, h, w, band, &lv, runs, n, pa, start[y]);
    }
    start[h] = n;
    resolve(runs, n);
    int64_t area = (int64_t)h * w / 1024;
    decide(runs, n, (int64_t)maxlevel * (area > 1 ? area : 1));
    for (int y = 0; y < h; y++)
        for (int32_t k = start[y]; k < start[y + 1]; k++)
            if (runs[runs[k].parent].drop)
                memset(out + (size_t)y * w + runs[k].x0, 0, (size_t)(runs[k].x1 - runs[k].x0));
    return KE_OK;
}
