/**
 * Image affinity for a cluster behind a load balancer: every request about one image carries the
 * image's key in one header, and the balancer hashes that header (HAProxy `balance hdr(...)` with
 * `hash-type consistent`, see docs/cluster/haproxy.cfg), so the replica that encoded an image
 * answers its clicks from its warm embedding cache, and a replica that leaves moves only its own
 * images. A request without the header (models, jobs, the viewer's files) goes to any replica.
 * Browser-safe: no imports.
 */

/** The request header that names the image a request is about (lower case, as fetch's Headers gives it back). */
export const IMAGE_ROUTE_HEADER = 'x-glmedsa-image';

/** What the routing key is made of: a PACS frame or an upload, as in an image reference. */
type Routable = { sopInstanceUID: string; frame?: number } | { imageId: string };

/**
 * The routing key of an image: the SOP instance and frame (not the window: the same image with
 * another window/level stays on the replica that holds its pixels and metadata), or the upload id.
 * Only UID digits and dots and hex digits, so it is a valid header value.
 */
export function imageRouteKey(image: Routable): string {
  return 'imageId' in image ? `upload:${image.imageId}` : `${image.sopInstanceUID}:${image.frame ?? 1}`;
}
