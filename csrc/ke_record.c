#include "ke.h"
int ke_version(void) { return KE_VERSION; }
