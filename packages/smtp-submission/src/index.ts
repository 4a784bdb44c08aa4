export { createSmtpSubmission, type SmtpSubmission, type SmtpSubmissionOptions } from './submission.js';
