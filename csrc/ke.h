/* kanjiedge C codec: ETL record decoding and resize/normalize. (skeleton; see ke_record.c, ke_image.c) */
#ifndef KE_H
#define KE_H
#define KE_VERSION 1
int ke_version(void);
#endif
