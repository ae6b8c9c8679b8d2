// A review of a completed stay, with photos: each file gets an upload URL
// (POST /v1/review-image-uploads), is PUT there with its content type, and
// the upload ids go into POST /v1/reviews.

import * as api from '../api.js';
import { t } from '../i18n.js';
import { href } from '../router.js';
import { add, alertBox, busy, clearErrors, field, formAlert, h, notice, put, showError, title } from '../ui.js';
import { bookingDetails, propertyOf } from './booking.js';

export const auth = true;

export async function render(root, ctx) {
  const bookingId = ctx.params.bookingId;
  add(root, title(t('review.title')));
  let booking;
  try {
    booking = (await api.get(`/v1/bookings/${bookingId}`)).booking;
  } catch (error) {
    if (ctx.live()) add(root, alertBox(error));
    return;
  }
  const property = await propertyOf(booking.propertyId);
  if (!ctx.live()) return;
  const status = h('p', { class: 'notice', role: 'status', hidden: true });
  const form = h(
    'form',
    { id: 'review-form', novalidate: true },
    formAlert(),
    field({
      name: 'rating',
      labelText: t('review.rating'),
      value: '5',
      options: [5, 4, 3, 2, 1].map((n) => [String(n), t('review.ratingOption', { n })]),
    }),
    field({ name: 'text', labelText: t('review.text'), type: 'textarea', rows: '5', maxlength: '2000' }),
    field({ name: 'image_upload_ids', labelText: t('review.images'), type: 'file', accept: 'image/jpeg,image/png,image/webp', multiple: true }),
    status,
    h('button', { type: 'submit', class: 'primary' }, t('review.submit')),
  );
  add(root, bookingDetails(booking, property), form);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form, async () => {
      clearErrors(form);
      const files = [...form.elements.image_upload_ids.files];
      try {
        const ids = [];
        if (files.length) {
          status.textContent = t('review.uploading');
          status.hidden = false;
        }
        for (const file of files) {
          const grant = await api.post('/v1/review-image-uploads', { contentType: file.type, contentLength: file.size });
          await api.upload(grant.uploadUrl, file);
          ids.push(grant.uploadId);
        }
        status.hidden = true;
        await api.post('/v1/reviews', {
          bookingId,
          rating: Number(form.elements.rating.value),
          text: form.elements.text.value,
          imageUploadIds: ids,
        });
        put(root, 
          title(t('review.title')),
          notice(t('review.done')),
          h('p', {}, h('a', { class: 'button primary', id: 'see-reviews', href: href(`/property/${booking.propertyId}`) }, t('review.see'))),
        );
        root.querySelector('.view-title').focus();
      } catch (error) {
        status.hidden = true;
        // The upload grant names content_type/content_length: that is the file.
        if (error.details?.length) {
          for (const d of error.details) {
            if (/^content_(type|length)$/.test(d.field)) d.field = 'image_upload_ids';
          }
        }
        showError(form, error);
      }
    });
  });
}


