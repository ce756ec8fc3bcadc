// The tus 1.0 headers of the resumable upload routes (/api/v1/uploads): what a client sends to create an upload
// and to send its bytes. @tus/server reads and checks them; these describe them in /openapi.json.
import Type from 'typebox';

const tusResumable = Type.Literal('1.0.0', { description: 'the tus protocol version' });

/** POST /api/v1/uploads. */
export const TusCreateHeaders = Type.Object({
  'Tus-Resumable': tusResumable,
  'Upload-Length': Type.String({
    pattern: '^\\d{1,16}$',
    description: 'the whole file in bytes, at most maxUploadBytes (deferred length is not supported)',
  }),
  'Upload-Metadata': Type.Optional(
    Type.String({ description: 'comma-separated "key base64(value)" pairs: title, filename, appId' }),
  ),
});

/** HEAD and DELETE /api/v1/uploads/{id}. */
export const TusHeaders = Type.Object({ 'Tus-Resumable': tusResumable });

/** PATCH /api/v1/uploads/{id} (Content-Type: application/offset+octet-stream). */
export const TusPatchHeaders = Type.Object({
  'Tus-Resumable': tusResumable,
  'Upload-Offset': Type.String({ pattern: '^\\d{1,16}$', description: 'where these bytes go: the current offset' }),
});
