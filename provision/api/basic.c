/* EST's HTTP Basic credentials: "Basic " base64("device:secret"). */
#include <string.h>
#include <strings.h>

#include "basic.h"
#include "ca.h"
#include "encode.h"
#include "registry.h"

enum basic_status
basic_parse(const char *auth, unsigned char buf[BASIC_MAX + 1],
    const char **user, const char **secret)
{
	char *colon;
	size_t n = 0;

	if (auth == NULL || strncasecmp(auth, "Basic ", 6) != 0 ||
	    b64_decode(auth + 6, strlen(auth + 6), buf, BASIC_MAX, &n, 0) ==
	    -1 || memchr(buf, '\0', n) != NULL)
		return BASIC_MISSING;
	buf[n] = '\0';
	if ((colon = strchr((char *)buf, ':')) == NULL ||
	    (*colon = '\0', !ca_name_is_safe((char *)buf)) ||
	    strlen((char *)buf) > REG_NAME_MAX)
		return BASIC_BAD_USER;
	*user = (char *)buf;
	*secret = colon + 1;
	return BASIC_OK;
}
